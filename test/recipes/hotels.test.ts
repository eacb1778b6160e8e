import { describe, expect, test } from 'vitest'
import { hotelDialogues, hotelEntities, searchHotelsTool } from '@tunekit/recipes'

type Call = { name: string; arguments: Record<string, string> }
const callOf = (record: ReturnType<typeof hotelDialogues>[number]): Call =>
  JSON.parse(record.conversations.find((t) => t.from === 'function_call')!.value) as Call
const parameterOrder = Object.keys(searchHotelsTool.function.parameters.properties)

describe('hotelDialogues', () => {
  // 4000 dialogues, well past the recipe's 460: requests stay distinct at the sizes a larger run would draw.
  const records = hotelDialogues({ seed: 0, count: 4000, tools: false })

  test('asks no request twice, so no held-out request is a train request', () => {
    expect(new Set(records.map((r) => r.conversations[0]!.value)).size).toBe(records.length)
  })

  test('writes every slot value of the call into the request, and only entities as values', () => {
    const entities = new Set(hotelEntities())
    for (const record of records) {
      const request = record.conversations[0]!.value
      for (const value of Object.values(callOf(record).arguments)) {
        expect(request).toContain(value)
        expect(entities.has(value)).toBe(true)
      }
    }
  })

  test('calls with one to four slots, in the tool parameters\' order', () => {
    const sizes = new Set<number>()
    for (const record of records) {
      const keys = Object.keys(callOf(record).arguments)
      sizes.add(keys.length)
      expect(keys).toEqual(parameterOrder.filter((k) => keys.includes(k)))
    }
    expect([...sizes].sort()).toEqual([1, 2, 3, 4])
  })

  test('alternates Chinese and English, and ends about half the records on the call', () => {
    expect(records.slice(0, 2).map((r) => /[\u4e00-\u9fff]/.test(r.conversations[0]!.value))).toEqual([true, false])
    const onCall = records.filter((r) => r.conversations.at(-1)!.from === 'function_call').length
    expect(onCall / records.length).toBeGreaterThan(0.45)
    expect(onCall / records.length).toBeLessThan(0.55)
  })
})
