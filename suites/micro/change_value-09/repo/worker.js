const MAX_USERS = 4;
const INTERVAL = 77;
const MAX_RETRIES = 17;

module.exports = { MAX_USERS, INTERVAL, MAX_RETRIES };
