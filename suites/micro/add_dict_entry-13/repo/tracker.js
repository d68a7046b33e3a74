const AGES = { pear: 16, grape: 29 };

module.exports = { AGES };
