/**
 * tunekit recipes: factories and ready recipes to import and override.
 * @packageDocumentation
 */
export { supportChat } from './support-chat.ts'
export { recipe as supportChatRecipe } from './recipes/support-chat.ts'
