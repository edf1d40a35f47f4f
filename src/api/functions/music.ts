// music:* — AI Town's background music. townhall generates none; AI Town's front end ships a default track.
import { Type } from 'typebox'
import { defineFunction } from '../registry.ts'

/** Where AI Town's front end keeps its default track (a path on the front end's own origin). */
export const DEFAULT_BACKGROUND_MUSIC = '/ai-town/assets/background.mp3'

export const musicFunctions = [
  defineFunction({
    path: 'music:getBackgroundMusic',
    kind: 'query',
    access: 'public',
    description: 'The background music\'s URL: AI Town\'s default track, served by its own front end.',
    args: Type.Object({}),
    returns: Type.String(),
    handler: async () => DEFAULT_BACKGROUND_MUSIC
  })
]
