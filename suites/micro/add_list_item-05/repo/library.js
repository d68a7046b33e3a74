const COLORS = ['white', 'green', 'purple'];

module.exports = { COLORS };
