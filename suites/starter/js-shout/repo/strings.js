function whisper(s) {
  return s.toLowerCase();
}
module.exports = { whisper };
