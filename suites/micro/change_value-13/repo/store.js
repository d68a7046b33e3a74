const MAX_USERS = 40;
const QUOTA = 67;
const INTERVAL = 25;

module.exports = { MAX_USERS, QUOTA, INTERVAL };
