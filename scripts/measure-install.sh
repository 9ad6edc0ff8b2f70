#!/usr/bin/env bash
# The size of a user's install of el4ner (the packed package in an empty project), alone, with the
# optional embedded engine node-llama-cpp, and with the optional ONNX runtime instead. Needs the npm
# registry. Prints three lines of MB.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$root" && npm pack --silent --pack-destination "$work" >/dev/null)
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent ./el4ner-*.tgz
echo "without node-llama-cpp: $(du -sm node_modules | cut -f1) MB"
npx el4ner --version >/dev/null
npm install --no-audit --no-fund --silent node-llama-cpp
echo "with node-llama-cpp: $(du -sm node_modules | cut -f1) MB (@node-llama-cpp prebuilt binaries: $(du -sm node_modules/@node-llama-cpp | cut -f1) MB)"
npm uninstall --no-audit --no-fund --silent node-llama-cpp
ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --silent onnxruntime-node
echo "with onnxruntime-node (no node-llama-cpp): $(du -sm node_modules | cut -f1) MB"
