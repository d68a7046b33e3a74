const AGES = { grape: 46, cherry: 16, plum: 68, melon: 1 };

module.exports = { AGES };
