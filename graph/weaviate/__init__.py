"""The Weaviate adapter: VectorStore on a Weaviate 1.x server (HTTP + gRPC, client v4)."""
