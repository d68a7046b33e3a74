const ANIMALS = ['dog', 'lion'];

module.exports = { ANIMALS };
