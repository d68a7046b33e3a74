const PORT = 18;
const WORKERS = 8;
const MAX_USERS = 50;

module.exports = { PORT, WORKERS, MAX_USERS };
