/**
 * Reusable tunekit recipes: factories that return validated recipes, and generated data sets.
 * @packageDocumentation
 */
export { qloraChatml, loraChatml, chatmlLoraDefaults, qloraModelDefaults, allProjections } from './chatml.ts'
export type { ChatmlRecipeOptions } from './chatml.ts'
export {
  oppositesDataset,
  allOppositeQuestions,
  oppositePairs,
  oppositePhrasings,
  chatmlText,
  seededRandom,
} from './datasets/opposites.ts'
export type { OppositesDataset, OppositesOptions, ChatmlTextRecord, QuestionAnswer } from './datasets/opposites.ts'
export { oppositePreferencePairs, oppositePreferences } from './datasets/opposite-pairs.ts'
export type { OppositePreference, OppositePreferenceOptions, OppositePreferences } from './datasets/opposite-pairs.ts'
export { gradeAnswers, formatGrades, readRunSamples } from './datasets/grade.ts'
export type { Grades, GradedAnswer, Sample } from './datasets/grade.ts'
export { hotelDialogues, hotelEntities, searchHotelsTool } from './datasets/hotels.ts'
export type { HotelDialogueOptions, HotelRecord, HotelSlot, SharegptTurn } from './datasets/hotels.ts'
export { faqParagraphs, faqSquadJson } from './datasets/faq.ts'
export type { FaqOptions, FaqParagraph, FaqQuestion } from './datasets/faq.ts'
export { drawShape, shapeColours, shapeImages, shapeNames, shapeQuestions, writeShapesDataset } from './datasets/shapes.ts'
export type { ColourName, ShapeImage, ShapeName, ShapeRecord, ShapesDataset, ShapesOptions } from './datasets/shapes.ts'
