"""The engine room: the model runtime (llama.cpp), its graph hook and GGUF reading. Knows nothing above it."""
