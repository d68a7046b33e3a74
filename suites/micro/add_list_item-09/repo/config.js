const CITIES = ['oslo', 'berlin', 'rome'];

module.exports = { CITIES };
