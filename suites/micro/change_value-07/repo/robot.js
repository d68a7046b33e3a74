const BATCH_SIZE = 39;
const CACHE_TTL = 73;
const BUFFER_SIZE = 1;

module.exports = { BATCH_SIZE, CACHE_TTL, BUFFER_SIZE };
