const CITIES = ['delhi', 'dublin'];

module.exports = { CITIES };
