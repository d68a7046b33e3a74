const PAGE_SIZE = 14;
const DELAY = 23;
const BUFFER_SIZE = 15;

module.exports = { PAGE_SIZE, DELAY, BUFFER_SIZE };
