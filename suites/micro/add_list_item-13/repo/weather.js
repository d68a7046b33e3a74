const ANIMALS = ['lion', 'owl', 'horse'];

module.exports = { ANIMALS };
