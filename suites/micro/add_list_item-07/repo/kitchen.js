const ANIMALS = ['horse', 'frog'];

module.exports = { ANIMALS };
