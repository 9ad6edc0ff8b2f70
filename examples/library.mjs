import { createMethod, loadConfig } from 'el4ner';

const method = await createMethod(loadConfig(process.argv[2] ?? 'el4ner.yaml'));
const [doc] = await method.extract('Barack Obama visited Paris.');
console.log(doc.entities); // [{ start, end, type, text, score, sources }, ...]
await method.close();
