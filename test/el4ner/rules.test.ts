import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { mulberry32 } from '../../src/core/random.js';
import { combineSystems } from '../../src/el4ner/voting/combine.js';
import { unitWeight } from '../../src/el4ner/voting/decide.js';
import { VOTING_RULE_NAMES, votingRule } from '../../src/el4ner/voting/rules.js';
import { plainVoteThresholds } from '../../src/experts/tune.js';
import { pipelineFor } from '../support/method.js';
import { goldByText, oracleEngine } from '../support/oracle.js';
import { conllDir, readJsonl } from './helpers.js';

const voters = ['a', 'b', 'c'];
const votes = (...types: Array<[string, string]>) => types.map(([voter, type]) => ({ voter, type }));

describe('voting rules registry', () => {
  it('the config takes the rule names from the registry', () => {
    assert.deepEqual(VOTING_RULE_NAMES, ['hard-vote', 'entity-then-type', 'type-vote']);
    assert.equal(parseConfig({ decision: { rule: 'entity-then-type' } }).decision.rule, 'entity-then-type');
    assert.throws(() => parseConfig({ decision: { rule: 'coin-flip' } }), /decision\.rule/);
  });

  it('soft votes: each voter counts by its probabilities, a soft "none" still lends its types their mass', () => {
    const soft = [
      { voter: 'a', type: 'PER', probs: { PER: 0.6, LOC: 0.1, none: 0.3 } },
      { voter: 'b', type: 'none', probs: { PER: 0.3, LOC: 0.1, none: 0.6 } },
      { voter: 'c', type: 'none', probs: { PER: 0.05, LOC: 0.05, none: 0.9 } },
    ];
    // Entity mass 0.7 + 0.4 + 0.1 = 1.2 of 3 voters: 0.4; hard, one of three.
    const ett = (threshold: number) =>
      votingRule('entity-then-type', { threshold }).decide({ votes: soft, voters, weight: unitWeight });
    assert.equal(ett(0.35).type, 'PER');
    assert.equal(ett(0.45).type, undefined);
    // Score: entity share 0.4 times PER's share of the entity mass (0.95 / 1.2).
    assert.ok(Math.abs(ett(0.35).score - (0.4 * 0.95) / 1.2) < 1e-12);
    assert.ok(Math.abs(ett(0.35).margin - (1.2 - 1.8) / 3) < 1e-12);
    // The plain vote's share of PER: 0.95 / 3; hard-vote: PER 0.95 against none 1.8.
    assert.equal(
      votingRule('type-vote', { threshold: 0.3 }).decide({ votes: soft, voters, weight: unitWeight }).type,
      'PER',
    );
    assert.equal(
      votingRule('type-vote', { threshold: 0.33 }).decide({ votes: soft, voters, weight: unitWeight }).type,
      undefined,
    );
    assert.equal(votingRule('hard-vote').decide({ votes: soft, voters, weight: unitWeight }).type, undefined);
    // A vote without probabilities is the hard vote it always was.
    const mixed = [soft[0], { voter: 'b', type: 'PER' }, { voter: 'c', type: 'none' }];
    assert.equal(votingRule('hard-vote').decide({ votes: mixed, voters, weight: unitWeight }).type, 'PER');
  });

  it('hard-vote (the paper): a PER / LOC / none split drops the span', () => {
    const d = votingRule('hard-vote').decide({
      votes: votes(['a', 'PER'], ['b', 'LOC'], ['c', 'none']),
      voters,
      weight: unitWeight,
    });
    assert.equal(d.type, undefined);
  });

  it('entity-then-type: two of three say "entity", so it is one; the type is the plurality, first voter on ties', () => {
    const rule = votingRule('entity-then-type', { threshold: 0.5 });
    const split = rule.decide({
      votes: votes(['a', 'PER'], ['b', 'LOC'], ['c', 'none']),
      voters,
      weight: unitWeight,
    });
    assert.equal(split.type, 'PER');
    assert.ok(Math.abs(split.score - (2 / 3) * 0.5) < 1e-9);
    const typed = rule.decide({
      votes: votes(['a', 'LOC'], ['b', 'PER'], ['c', 'PER']),
      voters,
      weight: unitWeight,
    });
    assert.equal(typed.type, 'PER');
    assert.ok(Math.abs(typed.score - 2 / 3) < 1e-9);
    const none = rule.decide({
      votes: votes(['a', 'PER'], ['b', 'none'], ['c', 'none']),
      voters,
      weight: unitWeight,
    });
    assert.equal(none.type, undefined);
  });

  it('entity-then-type: abstentions are left out above the quorum, count as none below it', () => {
    const rule = votingRule('entity-then-type', { threshold: 0.5 });
    // two answered of three (above the 0.5 quorum): 1 entity vs 1 none is not more than half
    const tie = rule.decide({ votes: votes(['a', 'PER'], ['b', 'none']), voters, weight: unitWeight });
    assert.equal(tie.type, undefined);
    // two answered, both entity: an entity although c abstained
    const two = rule.decide({ votes: votes(['a', 'PER'], ['b', 'PER']), voters, weight: unitWeight });
    assert.equal(two.type, 'PER');
    // one answered of three (below the quorum): one lone vote cannot make an entity
    const lone = rule.decide({ votes: votes(['a', 'PER']), voters, weight: unitWeight });
    assert.equal(lone.type, undefined);
    // with quorum 0 the lone answer decides
    assert.equal(
      votingRule('entity-then-type', { threshold: 0.5, quorum: 0 }).decide({
        votes: votes(['a', 'PER']),
        voters,
        weight: unitWeight,
      }).type,
      'PER',
    );
  });

  it('type-vote: the plurality type needs its share of every voter asked; abstentions count against', () => {
    const twoOfThree = votingRule('type-vote', { threshold: 1.5 / 3 });
    assert.equal(
      twoOfThree.decide({
        votes: votes(['a', 'PER'], ['b', 'LOC'], ['c', 'none']),
        voters,
        weight: unitWeight,
      }).type,
      undefined,
      'PER / LOC / none: no type has two votes',
    );
    const kept = twoOfThree.decide({
      votes: votes(['a', 'LOC'], ['b', 'PER'], ['c', 'PER']),
      voters,
      weight: unitWeight,
    });
    assert.equal(kept.type, 'PER');
    assert.ok(Math.abs(kept.score - 2 / 3) < 1e-9);
    assert.ok(Math.abs(kept.margin - 1 / 3) < 1e-9);
    // a abstains: one PER vote is one of three asked, not one of one answering
    assert.equal(
      twoOfThree.decide({ votes: votes(['b', 'PER']), voters, weight: unitWeight }).type,
      undefined,
    );
    assert.equal(
      votingRule('type-vote', { threshold: 0.5 / 3 }).decide({
        votes: votes(['b', 'PER']),
        voters,
        weight: unitWeight,
      }).type,
      'PER',
    );
  });

  it('type-vote at "at least m of n" gives what `el4ner ensemble --strategy vote --min-votes m` gives', () => {
    const rand = mulberry32(7);
    const names = ['a', 'b', 'c', 'd'];
    const types = ['PER', 'LOC', 'ORG', 'none', 'abstain'];
    for (let trial = 0; trial < 400; trial++) {
      const said = names.map((voter) => ({ voter, type: types[Math.floor(rand() * types.length)] }));
      const systems = said.map(({ voter, type }) => ({
        name: voter,
        entities: type === 'none' || type === 'abstain' ? [] : [{ start: 0, end: 4, type, text: 'Rome' }],
      }));
      for (const [i, d] of plainVoteThresholds(names.length).entries()) {
        const expected = combineSystems('Rome', systems, { strategy: 'vote', minVotes: i + 1 })[0]?.type;
        const got = votingRule('type-vote', { threshold: d.threshold }).decide({
          votes: said.filter((v) => v.type !== 'abstain'),
          voters: names,
          weight: unitWeight,
        }).type;
        assert.equal(got, expected, `${JSON.stringify(said)} at least ${i + 1}`);
      }
    }
  });

  it('margins: 1 when unanimous, the share for minus the share against; the default threshold 0 keeps a minority span with a negative margin', () => {
    const ett = votingRule('entity-then-type');
    const all = ett.decide({
      votes: votes(['a', 'PER'], ['b', 'PER'], ['c', 'PER']),
      voters,
      weight: unitWeight,
    });
    assert.equal(all.margin, 1);
    const minority = ett.decide({
      votes: votes(['a', 'PER'], ['b', 'none'], ['c', 'none']),
      voters,
      weight: unitWeight,
    });
    assert.equal(minority.type, 'PER', 'threshold 0: any entity vote makes a candidate');
    assert.ok(Math.abs(minority.margin - -1 / 3) < 1e-9);
    assert.equal(
      ett.decide({ votes: votes(['a', 'none'], ['b', 'none'], ['c', 'none']), voters, weight: unitWeight })
        .type,
      undefined,
    );
    // below the quorum the abstentions count against: one answer of three gives margin -1/3
    const lone = ett.decide({ votes: votes(['a', 'PER']), voters, weight: unitWeight });
    assert.ok(Math.abs(lone.margin - -1 / 3) < 1e-9);
    // hard vote: the winner against its strongest rival (none or another type), over all votes
    const hv = votingRule('hard-vote').decide({
      votes: votes(['a', 'PER'], ['b', 'PER'], ['c', 'LOC']),
      voters,
      weight: unitWeight,
    });
    assert.equal(hv.type, 'PER');
    assert.ok(Math.abs(hv.margin - 1 / 3) < 1e-9);
  });

  it('decision.rule reaches the pipeline: entity-then-type keeps spans the hard vote drops', async () => {
    const test = readJsonl(path.join(conllDir, 'test.jsonl'), 30).filter((d) => d.entities.length > 0);
    const byText = goldByText(test);
    const labels = ['LOC', 'MISC', 'ORG', 'PER'];
    // a types by gold; b calls every PER a LOC; c says none to every PER
    const engines = () =>
      new Map([
        ['a', oracleEngine('a', byText)],
        ['b', oracleEngine('b', byText, { classify: (_s, gt) => (gt === 'PER' ? 'LOC' : (gt ?? 'none')) })],
        ['c', oracleEngine('c', byText, { classify: (_s, gt) => (gt === 'PER' ? 'none' : (gt ?? 'none')) })],
      ]);
    const models = ['a', 'b', 'c'].map((name) => ({
      name,
      engine: 'openai',
      baseUrl: 'http://127.0.0.1:9/v1',
      model: name,
    }));
    const run = async (rule: string) => {
      const p = await pipelineFor({
        config: parseConfig({
          models,
          labels,
          stages: { verification: false },
          decision: { rule, threshold: 0.5 },
        }),
        engines: engines(),
      });
      const r = await p.evaluate(test);
      await p.close();
      return r.final.perType.PER?.tp ?? 0;
    };
    const pers = test.flatMap((d) => d.entities).filter((e) => e.type === 'PER').length;
    assert.ok(pers > 0);
    assert.equal(await run('hard-vote'), 0);
    assert.equal(await run('entity-then-type'), pers);
  });
});
