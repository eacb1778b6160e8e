/**
 * A generated set of CrossWOZ-like hotel-search dialogues in Chinese and English, in
 * LLaMA-Factory's sharegpt format with tools: the user asks for a hotel with one to four
 * constraints, the assistant calls `search_hotels` with those constraints as slots, the tool
 * answers with matching hotels, and the assistant replies in text from the results.
 *
 * Each dialogue is one record that ends either on the call (its last assistant turn, the one the
 * score node asks for, is the tool call) or on the reply after the observation (a text turn), so
 * held-out records score both slot P/R/F1 and BLEU-4, as the CrossWOZ function-calling experiments
 * do. The values of every slot are written into the user's request as they go into the call, so a
 * model can learn to copy them; hotels, values and phrasings are tunekit's own.
 */
import { seededRandom } from './opposites.ts'

/** The one tool of the dialogues, compact (it is rendered into every prompt once tools are). */
export const searchHotelsTool = {
  type: 'function',
  function: {
    name: 'search_hotels',
    description: 'search hotels 查酒店',
    parameters: {
      type: 'object',
      properties: {
        name: { type: 'string' },
        type: { type: 'string' },
        facilities: { type: 'string' },
        price_range: { type: 'string' },
        rating: { type: 'string' },
        subway: { type: 'string' },
      },
    },
  },
} as const

/** The slots of `search_hotels`. */
export type HotelSlot = keyof typeof searchHotelsTool.function.parameters.properties

type Language = 'zh' | 'en'

/** Each slot's values and the words that ask for one (`{v}` is the value), per language. */
const SLOTS: Record<HotelSlot, Record<Language, { values: readonly string[]; ask: readonly string[] }>> = {
  name: {
    zh: { values: ['如家酒店', '汉庭酒店', '全季酒店', '北京饭店', '王府井大饭店', '桔子酒店'], ask: ['叫{v}', '名字是{v}'] },
    en: { values: ['Home Inn', 'Hanting Hotel', 'Ji Hotel', 'Beijing Hotel', 'Grand Hotel', 'Orange Hotel'], ask: ['called {v}', 'named {v}'] },
  },
  type: {
    zh: { values: ['经济型', '舒适型', '高档型', '豪华型'], ask: ['{v}的', '要{v}'] },
    en: { values: ['budget', 'comfort', 'upscale', 'luxury'], ask: ['{v}', 'of type {v}'] },
  },
  facilities: {
    zh: { values: ['免费WiFi', '停车场', '健身房', '游泳池', '早餐'], ask: ['有{v}', '带{v}'] },
    en: { values: ['free WiFi', 'parking', 'a gym', 'a pool', 'breakfast'], ask: ['with {v}', 'that has {v}'] },
  },
  price_range: {
    zh: { values: ['100-200元', '200-300元', '300-500元', '500-1000元'], ask: ['价格{v}', '{v}之间'] },
    en: { values: ['100-200 yuan', '200-300 yuan', '300-500 yuan', '500-1000 yuan'], ask: ['for {v}', 'priced {v}'] },
  },
  rating: {
    zh: { values: ['4分以上', '4.5分以上', '5分'], ask: ['评分{v}', '{v}的评分'] },
    en: { values: ['4+', '4.5+', '5'], ask: ['rated {v}', 'with a rating of {v}'] },
  },
  subway: {
    zh: { values: ['王府井站', '西单站', '国贸站', '东直门站', '中关村站'], ask: ['靠近{v}', '在{v}附近'] },
    en: { values: ['Wangfujing station', 'Xidan station', 'Guomao station', 'Dongzhimen station', 'Zhongguancun station'], ask: ['near {v}', 'close to {v}'] },
  },
}

const OPENINGS: Record<Language, readonly string[]> = {
  zh: ['帮我找一家酒店，', '我想订酒店，', '请推荐酒店，', '有没有酒店'],
  en: ['Find me a hotel ', 'I need a hotel ', 'Please look for a hotel ', 'Any hotel '],
}
const JOIN: Record<Language, string> = { zh: '，', en: ', ' }
const END: Record<Language, string> = { zh: '。', en: '.' }

const HOTELS: Record<Language, readonly string[]> = {
  zh: ['如家酒店', '汉庭酒店', '全季酒店', '北京饭店', '王府井大饭店', '桔子酒店', '锦江之星', '维也纳酒店'],
  en: ['Home Inn', 'Hanting Hotel', 'Ji Hotel', 'Beijing Hotel', 'Grand Hotel', 'Orange Hotel', 'Jinjiang Inn', 'Vienna Hotel'],
}

/** The reply after the tool's results: the first hotel, its price and rating. */
const REPLY: Record<Language, (hotel: string, price: number, rating: string) => string> = {
  zh: (h, p, r) => `为您找到${h}，价格${p}元，评分${r}。`,
  en: (h, p, r) => `I found ${h}: ${p} yuan, rated ${r}.`,
}

/**
 * Every value a slot can take and every hotel a reply can name, both languages: the entities of
 * the dialogues, which a tokenizer made for them can keep whole (recipes/hotel-tokenizer).
 */
export function hotelEntities(): string[] {
  const values = Object.values(SLOTS).flatMap((byLang) => Object.values(byLang).flatMap((s) => [...s.values]))
  return [...new Set([...values, ...HOTELS.zh, ...HOTELS.en])]
}

/** A Fisher–Yates shuffle of a copy of `items`. */
function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

/** Draws of a request before a repeat is kept (see {@link hotelDialogues}). */
const REDRAWS = 50

const pick = <T>(items: readonly T[], random: () => number): T => items[Math.floor(random() * items.length)]!

/**
 * One request with one to `maxSlots` distinct constraints, in the order the user names them, and
 * its call's arguments in the tool's parameter order (as CrossWOZ's dialogue states list slots in
 * the ontology's order), whatever order the user named them in.
 */
function drawRequest(lang: Language, maxSlots: number, random: () => number): { request: string; args: Partial<Record<HotelSlot, string>> } {
  const slotNames = Object.keys(SLOTS) as HotelSlot[]
  const count = 1 + Math.floor(random() * Math.min(maxSlots, slotNames.length))
  const slots = shuffled(slotNames, random).slice(0, count)
  const chosen = new Map<HotelSlot, string>()
  const asks = slots.map((slot) => {
    const { values, ask } = SLOTS[slot][lang]
    const value = pick(values, random)
    chosen.set(slot, value)
    return pick(ask, random).replace('{v}', value)
  })
  const args = Object.fromEntries(slotNames.filter((s) => chosen.has(s)).map((s) => [s, chosen.get(s)!]))
  return { request: `${pick(OPENINGS[lang], random)}${asks.join(JOIN[lang])}${END[lang]}`, args }
}

/** One turn of a sharegpt record (LLaMA-Factory's `from` / `value`). */
export type SharegptTurn = {
  from: 'human' | 'gpt' | 'function_call' | 'observation'
  value: string
}

/** One record in LLaMA-Factory's sharegpt format with tools (`format: 'sharegpt'`). */
export type HotelRecord = {
  conversations: SharegptTurn[]
  /** The tool definitions, JSON text (`[searchHotelsTool]`); absent with `tools: false`. */
  tools?: string
}

/** Options of {@link hotelDialogues}. */
export interface HotelDialogueOptions {
  /** Seed of every choice. @defaultValue 0 */
  seed?: number
  /** Dialogues to generate. @defaultValue 400 */
  count?: number
  /** Share of dialogues that end on the tool call (the rest end on the text reply). @defaultValue 0.5 */
  endOnCall?: number
  /** Most slots of one call (each call has 1 to this many). @defaultValue 4 */
  maxSlots?: number
  /**
   * Declare `search_hotels` in every record (`tools`), so that templates render its definition
   * into the prompt: ChatML's Hermes-style tool preamble adds about 190 Mistral tokens to every
   * sample, three times a dialogue's own length. `false` leaves the definitions out; the model
   * then learns the tool from the calls alone. @defaultValue true
   */
  tools?: boolean
}

/**
 * Seeded hotel-search dialogues, half Chinese and half English: a request with one to four
 * constraints, the `search_hotels` call with those slots (values as the user wrote them), the
 * results, and a reply; each record ends on the call or on the reply (see the module's comment).
 * No request is asked twice while there are new ones to draw (432 one-slot requests, tens of
 * thousands with two to four slots), so held-out records are not train records.
 */
export function hotelDialogues(options: HotelDialogueOptions = {}): HotelRecord[] {
  const random = seededRandom(options.seed ?? 0)
  const tools = JSON.stringify([searchHotelsTool])
  const seen = new Set<string>()
  return Array.from({ length: options.count ?? 400 }, (_, i): HotelRecord => {
    const lang: Language = i % 2 === 0 ? 'zh' : 'en'
    // A request drawn before is drawn again, so that no two records ask the same (a held-out
    // request is never one the model trained on); after REDRAWS tries a repeat is kept, for
    // counts larger than the requests there are.
    let request = ''
    let args: Partial<Record<HotelSlot, string>> = {}
    for (let attempt = 0; attempt < REDRAWS && (attempt === 0 || seen.has(request)); attempt++) {
      ;({ request, args } = drawRequest(lang, options.maxSlots ?? 4, random))
    }
    seen.add(request)
    const call = JSON.stringify({ name: 'search_hotels', arguments: args })
    const turns: SharegptTurn[] = [{ from: 'human', value: request }, { from: 'function_call', value: call }]
    if (random() >= (options.endOnCall ?? 0.5)) {
      const hotel = args.name ?? pick(HOTELS[lang], random)
      const price = 100 + 10 * Math.floor(random() * 90)
      const rating = (4 + Math.floor(random() * 11) / 10).toFixed(1)
      turns.push({ from: 'observation', value: JSON.stringify([{ name: hotel, price, rating }]) })
      turns.push({ from: 'gpt', value: REPLY[lang](hotel, price, rating) })
    }
    return options.tools === false ? { conversations: turns } : { conversations: turns, tools }
  })
}
