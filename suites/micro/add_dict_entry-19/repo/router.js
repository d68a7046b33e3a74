const LIMITS = { cherry: 62, lemon: 16 };

module.exports = { LIMITS };
