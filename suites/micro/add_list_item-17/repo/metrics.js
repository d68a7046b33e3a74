const COLORS = ['yellow', 'pink'];

module.exports = { COLORS };
