const WORKERS = 10;
const BUFFER_SIZE = 30;
const LEVEL = 25;

module.exports = { WORKERS, BUFFER_SIZE, LEVEL };
