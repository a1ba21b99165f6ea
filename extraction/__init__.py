"""Files -> chunks -> mentions, entities, relations, embeddings -> stores."""
