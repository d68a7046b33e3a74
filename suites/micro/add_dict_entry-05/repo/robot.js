const PRICES = { apple: 93, lemon: 4, grape: 85, peach: 49 };

module.exports = { PRICES };
