const LIMITS = { mango: 22, apple: 24 };

module.exports = { LIMITS };
