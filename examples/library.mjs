import { createPipeline, loadConfig } from 'el4ner';

const pipeline = createPipeline(loadConfig(process.argv[2] ?? 'el4ner.yaml'));
const [doc] = await pipeline.extract('Barack Obama visited Paris.');
console.log(doc.entities); // [{ start, end, type, text, score, sources }, ...]
await pipeline.close();
