const AGES = { melon: 31, banana: 45 };

module.exports = { AGES };
