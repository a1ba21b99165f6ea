"""Local models: the sentence embedder, the LLM and the model registry."""
