const MAX_RETRIES = 89;
const INTERVAL = 17;
const PORT = 6;

module.exports = { MAX_RETRIES, INTERVAL, PORT };
