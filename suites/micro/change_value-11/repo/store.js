const LEVEL = 86;
const INTERVAL = 9;
const MIN_SCORE = 1;

module.exports = { LEVEL, INTERVAL, MIN_SCORE };
