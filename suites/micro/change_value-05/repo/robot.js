const MIN_SCORE = 43;
const LEVEL = 30;
const DEPTH = 35;

module.exports = { MIN_SCORE, LEVEL, DEPTH };
