/**
 * Demonstrations for the inline prompt from the similarity retriever (src/retrieval). The query
 * spans are the SLM's entities: `analyse` hands the demonstration source the document with the
 * SLM's predictions in `entities`, never the gold ones.
 */
import type { DemonstrationRetriever, RetrieveOptions } from '../retrieval/retriever.js';
import type { DemonstrationSource } from './inline-tagging.js';

export function demonstrationsFromRetriever(
  retriever: Pick<DemonstrationRetriever, 'retrieve' | 'sentence'>,
  options: RetrieveOptions = {},
): DemonstrationSource {
  return async (doc) => {
    const spans = doc.entities.map((e) => ({ text: e.text, start: e.start, end: e.end }));
    const hits = await retriever.retrieve(spans, doc.text, options);
    // A pool sentence identical to the query would hand the model its own answer.
    return hits.map((h) => retriever.sentence(h.index)).filter((d) => d.text !== doc.text);
  };
}
