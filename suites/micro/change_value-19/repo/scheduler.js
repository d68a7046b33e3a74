const LIMIT = 49;
const PAGE_SIZE = 84;
const TIMEOUT = 88;

module.exports = { LIMIT, PAGE_SIZE, TIMEOUT };
