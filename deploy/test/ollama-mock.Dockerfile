# Test stand-in for the Ollama service (no image registry is reachable on the project's
# machines): the in-repo Ollama API mock (ollama-mock/), serving the model `tiny`. The build
# context is a folder holding the `ollama-mock` binary built on the host
# (scripts/test-compose.sh makes it). Used through LLM_IMAGE; users run the official image.
FROM debian:bookworm-slim
COPY ollama-mock /usr/local/bin/ollama-mock
EXPOSE 11434
ENTRYPOINT ["/usr/local/bin/ollama-mock", "--addr", "0.0.0.0:11434", "--model", "tiny"]
