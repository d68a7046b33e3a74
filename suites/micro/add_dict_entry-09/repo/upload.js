const AGES = { plum: 17, cherry: 55, mango: 11, fig: 1 };

module.exports = { AGES };
