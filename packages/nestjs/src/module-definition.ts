import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { JwtSessionModuleOptions } from './options.js';

/*
 * forRoot / forRootAsync without hand-written providers. Kept apart from the
 * module class so the guard can inject the options token without an import
 * circle (module → guard → token).
 */
export const { ConfigurableModuleClass: ModuleBase, MODULE_OPTIONS_TOKEN: JWT_SESSION_OPTIONS } = new ConfigurableModuleBuilder<JwtSessionModuleOptions>({ moduleName: 'JwtSession' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
