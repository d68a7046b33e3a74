const LIMITS = { peach: 62, kiwi: 20, pear: 15, banana: 78 };

module.exports = { LIMITS };
