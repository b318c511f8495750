/**
 * The built-in corpus: synthetic headlines from a small grammar written for this project, used when no
 * data is given. It teaches memory across the window: at several places the next word is decided by
 * the word TWO back, while the word just before it is shared by every case (an adverb, "the", "in",
 * an adjective), so a model that only looks at the last word cannot do better than guess.
 *
 *   story:  SUBJECT [ADVERB] VERB the OBJECT [in PLACE]     e.g. "Knicks Quietly Sign the Rookie in Boston"
 *           (SUBJECT, ADVERB) -> VERB   each subject always takes its own verb
 *           (VERB, the) -> OBJECT       each verb takes one of its three objects
 *           (OBJECT, in) -> PLACE       each object always happens in its own place
 *   count:  NUMBER ADJECTIVE NOUN VERB in PLACE             e.g. "Three New Storms Expected in Ohio"
 *           (NUMBER, ADJECTIVE) -> NOUN "One" takes a singular noun, every other number a plural one
 *           (NOUN, VERB) -> in, (VERB, in) -> PLACE   each event verb has its own place
 *
 * About 115 words and 2000 pairs: small enough for the default model to learn it in a minute on a
 * software adapter, large enough that the rules, not the headlines, are what it has to learn.
 */
import { Rng } from "../model/rng.ts";

/** Describes the corpus in Dataset.source. */
export const BUILTIN_SOURCE = "built-in corpus";

/** Fixed, so the built-in corpus is the same everywhere (--seed only drives the validation split). */
const BUILTIN_SEED = 20170401;
const BUILTIN_HEADLINES = 500;
/** Share of "count" headlines; the rest are "story" headlines. */
const COUNT_SHARE = 0.3;
/** Chance a story has its adverb (without it the verb follows the subject directly). */
const ADVERB_CHANCE = 0.7;
/** Chance a story ends with "in PLACE". */
const PLACE_CHANCE = 0.8;

/** Subjects in pairs of a topic: subject 2k takes verb 2k, subject 2k+1 takes verb 2k+1. */
const TOPICS: { subjects: string[]; verbs: [string, string[]][] }[] = [
  {
    subjects: ["Knicks", "Yankees", "Rangers", "Jets"],
    verbs: [["Sign", ["Rookie", "Pitcher", "Coach"]], ["Trade", ["Veteran", "Goalie", "Captain"]]],
  },
  {
    subjects: ["Mayor", "Council", "Governor", "Legislature"],
    verbs: [["Approves", ["Budget", "Tunnel", "Tax"]], ["Blocks", ["Rezoning", "Casino", "Toll"]]],
  },
  {
    subjects: ["Investors", "Banks", "Traders", "Funds"],
    verbs: [["Buy", ["Dollar", "Euro", "Gold"]], ["Dump", ["Yen", "Oil", "Bitcoin"]]],
  },
  {
    subjects: ["Scientists", "Doctors", "Astronomers", "Researchers"],
    verbs: [["Discover", ["Comet", "Gene", "Fossil"]], ["Study", ["Virus", "Glacier", "Reef"]]],
  },
  {
    subjects: ["Critics", "Museums", "Audiences", "Theaters"],
    verbs: [["Praise", ["Opera", "Novel", "Album"]], ["Revive", ["Musical", "Ballet", "Exhibit"]]],
  },
  {
    subjects: ["Regulators", "Startups", "Prosecutors", "Engineers"],
    verbs: [["Probe", ["Merger", "Breach", "App"]], ["Launch", ["Satellite", "Phone", "Robot"]]],
  },
];

const ADVERBS = ["Quietly", "Finally", "Suddenly", "Again", "Reportedly", "Officially", "Barely", "Nearly"];
const PLACES = [
  "Brooklyn",
  "Queens",
  "Albany",
  "Boston",
  "Chicago",
  "Texas",
  "Ohio",
  "Paris",
  "London",
  "Tokyo",
];

const NUMBERS = ["One", "Two", "Three", "Four", "Five"];
const ADJECTIVES = ["New", "More", "Major", "Minor"];
/** [singular, plural, event verb]. */
const EVENTS: [string, string, string][] = [
  ["Case", "Cases", "Reported"],
  ["Storm", "Storms", "Expected"],
  ["Strike", "Strikes", "Planned"],
  ["Fire", "Fires", "Contained"],
  ["Quake", "Quakes", "Felt"],
];

// Stride 7 is coprime to the 10 places, so objects (and event verbs) spread over all of them without
// lining up with topics: the place has to be learned from the object itself.
function placeOf(n: number): string {
  return PLACES[(n * 7 + 3) % PLACES.length];
}

/** The built-in corpus, as raw headlines (Title Case, cleaned like any CSV headline). */
export function builtinHeadlines(): string[] {
  const rng = new Rng(BUILTIN_SEED);
  const pick = <T>(items: readonly T[]): T => items[rng.int(items.length)];
  const objects = TOPICS.flatMap((t) => t.verbs.flatMap(([, objs]) => objs));
  const headlines: string[] = [];
  for (let h = 0; h < BUILTIN_HEADLINES; h++) {
    if (rng.next() < COUNT_SHARE) {
      const number = pick(NUMBERS);
      const e = rng.int(EVENTS.length);
      const [singular, plural, verb] = EVENTS[e];
      const noun = number === "One" ? singular : plural;
      headlines.push(`${number} ${pick(ADJECTIVES)} ${noun} ${verb} in ${placeOf(objects.length + e)}`);
      continue;
    }
    const topic = pick(TOPICS);
    const s = rng.int(topic.subjects.length);
    const [verb, verbObjects] = topic.verbs[s % 2];
    const object = pick(verbObjects);
    const words = [topic.subjects[s]];
    if (rng.next() < ADVERB_CHANCE) words.push(pick(ADVERBS));
    words.push(verb, "the", object);
    if (rng.next() < PLACE_CHANCE) words.push("in", placeOf(objects.indexOf(object)));
    headlines.push(words.join(" "));
  }
  return headlines;
}
