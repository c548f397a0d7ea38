import { Module } from '@nestjs/common';
import { SessionAuthGuard } from './guard.js';
import { JWT_SESSION_OPTIONS, ModuleBase } from './module-definition.js';

/**
 * Provides {@link SessionAuthGuard} on the options given to `forRoot` (or
 * made by `forRootAsync`'s factory). `isGlobal: true` makes the guard usable
 * in every module without importing this one again.
 *
 * @example
 * JwtSessionModule.forRoot({ manager, realm: 'api', isGlobal: true })
 * JwtSessionModule.forRootAsync({ inject: [ConfigService], useFactory: (config) => ({ manager: makeManager(config) }) })
 */
export class JwtSessionModule extends ModuleBase {}

// Applied as a call, like the guard's: no experimentalDecorators needed to build the package.
Module({ providers: [SessionAuthGuard], exports: [SessionAuthGuard, JWT_SESSION_OPTIONS] })(JwtSessionModule);

