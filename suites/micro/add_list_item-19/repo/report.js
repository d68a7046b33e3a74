const ANIMALS = ['cat', 'horse'];

module.exports = { ANIMALS };
