const WEIGHTS = { pear: 53, peach: 60, apple: 45, grape: 64 };

module.exports = { WEIGHTS };
