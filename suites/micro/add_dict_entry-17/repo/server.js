const AGES = { mango: 98, cherry: 2 };

module.exports = { AGES };
