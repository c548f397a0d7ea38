export { JwtSessionModule } from './module.js';
export { JWT_SESSION_OPTIONS } from './module-definition.js';
export type { JwtSessionModuleOptions } from './options.js';
export { SessionAuthGuard } from './guard.js';
export { SessionAuth } from './auth.decorator.js';
export type { AuthContext, ProvisionedUser } from '@jwt-session/socketio-adapter';
