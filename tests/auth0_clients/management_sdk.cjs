// Drives the local tenant with the npm `auth0` ManagementClient, untouched.
//
// Run by tests/test_auth0_clients.py with the SDK's directory in SDK_DIR (4.x or
// the latest major), the tenant in AUTH0_DOMAIN / AUTH0_AUDIENCE, the management
// client in AUTH0_CLIENT_ID / AUTH0_CLIENT_SECRET and the tenant's CA in
// NODE_EXTRA_CA_CERTS. The SDK obtains its own token (client credentials).
// Prints one JSON object: what each call answered, for the test to judge.
'use strict';

const { ManagementClient } = require(process.env.SDK_DIR);
const major = Number(require(`${process.env.SDK_DIR}/package.json`).version.split('.')[0]);

const mgmt = new ManagementClient({
  domain: process.env.AUTH0_DOMAIN,
  clientId: process.env.AUTH0_CLIENT_ID,
  clientSecret: process.env.AUTH0_CLIENT_SECRET,
  audience: process.env.AUTH0_AUDIENCE,
});

// 4.x answers {data, headers, status}; the Fern-generated 5.x+ answers the body.
const body = (answer) => (major < 5 ? answer.data : answer);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The two generations name the same endpoints differently.
const api =
  major < 5
    ? {
        createAction: (b) => mgmt.actions.create(b),
        getAction: (id) => mgmt.actions.get({ id }),
        deploy: (id) => mgmt.actions.deploy({ id }),
        versions: async (id) => body(await mgmt.actions.getVersions({ actionId: id })).versions,
        bind: (triggerId, bindings) => mgmt.actions.updateTriggerBindings({ triggerId }, { bindings }),
        bindings: async (triggerId) =>
          body(await mgmt.actions.getTriggerBindings({ triggerId })).bindings,
        createModule: null, // 4.x has no actions-modules methods
        createUser: (b) => mgmt.users.create(b),
        getUser: (id) => mgmt.users.get({ id }),
        updateUser: (id, b) => mgmt.users.update({ id }, b),
        search: async (q) => body(await mgmt.users.getAll({ q, search_engine: 'v3' })),
        byEmail: (email) => mgmt.usersByEmail.getByEmail({ email }),
        exportUsers: (b) => mgmt.jobs.exportUsers(b),
        getJob: (id) => mgmt.jobs.get({ id }),
        clients: async () => body(await mgmt.clients.getAll()),
        connections: async () => body(await mgmt.connections.getAll()),
        connection: (id) => mgmt.connections.get({ id }),
      }
    : {
        createAction: (b) => mgmt.actions.create(b),
        getAction: (id) => mgmt.actions.get(id),
        deploy: (id) => mgmt.actions.deploy(id),
        versions: async (id) => (await mgmt.actions.versions.list(id)).data,
        bind: (triggerId, bindings) => mgmt.actions.triggers.bindings.updateMany(triggerId, { bindings }),
        bindings: async (triggerId) => (await mgmt.actions.triggers.bindings.list(triggerId)).data,
        createModule: (b) => mgmt.actions.modules.create(b),
        publishModule: (id) => mgmt.actions.modules.versions.create(id),
        moduleVersions: async (id) => (await mgmt.actions.modules.versions.list(id)).data,
        moduleActions: async (id) => (await mgmt.actions.modules.listActions(id)).data,
        createUser: (b) => mgmt.users.create(b),
        getUser: (id) => mgmt.users.get(id),
        updateUser: (id, b) => mgmt.users.update(id, b),
        search: async (q) => (await mgmt.users.list({ q, search_engine: 'v3' })).data,
        byEmail: (email) => mgmt.users.listUsersByEmail({ email }),
        exportUsers: (b) => mgmt.jobs.usersExports.create(b),
        getJob: (id) => mgmt.jobs.get(id),
        clients: async () => (await mgmt.clients.list()).data,
        connections: async () => (await mgmt.connections.list()).data,
        connection: (id) => mgmt.connections.get(id),
      };

async function builtAction(b) {
  const action = body(await api.createAction(b));
  for (let i = 0; i < 600; i += 1) {
    const now = body(await api.getAction(action.id));
    if (now.status === 'built') return now;
    await sleep(50);
  }
  throw new Error(`${b.name} never built`);
}

async function main() {
  const out = { major };
  let module = null;
  if (api.createModule) {
    module = body(await api.createModule({ name: 'shared-helpers', code: 'module.exports = {};' }));
    const version = body(await api.publishModule(module.id));
    out.module = { name: module.name, published: version.version_number };
    module.version = version;
  }
  const postLogin = await builtAction({
    name: 'sdk-post-login',
    supported_triggers: [{ id: 'post-login', version: 'v3' }],
    code: 'exports.onExecutePostLogin = async (event, api) => {};',
    secrets: [{ name: 'API_KEY', value: 'not-in-any-answer' }],
    ...(module
      ? { modules: [{ module_id: module.id, module_version_id: module.version.id }] }
      : {}),
  });
  const exchange = await builtAction({
    name: 'sdk-credentials-exchange',
    supported_triggers: [{ id: 'credentials-exchange', version: 'v2' }],
    code: 'exports.onExecuteCredentialsExchange = async (event, api) => {};',
  });
  for (const action of [postLogin, exchange]) {
    await api.deploy(action.id);
  }
  await sleep(100);
  out.versions = (await api.versions(postLogin.id)).map((v) => v.number);
  await api.bind('post-login', [{ ref: { type: 'action_id', value: postLogin.id } }]);
  await api.bind('credentials-exchange', [{ ref: { type: 'action_name', value: exchange.name } }]);
  out.bindings = {
    'post-login': (await api.bindings('post-login')).map((b) => b.action.name),
    'credentials-exchange': (await api.bindings('credentials-exchange')).map((b) => b.action.name),
  };
  if (module) {
    out.module.actions = (await api.moduleActions(module.id)).map((a) => a.action_name);
  }

  const user = body(
    await api.createUser({
      connection: 'Username-Password-Authentication',
      email: `sdk-${major}@example.com`,
      password: 'correct horse battery staple',
      user_metadata: { consent: { given: true } },
    }),
  );
  await api.updateUser(user.user_id, { user_metadata: { plan: 'pro' } });
  const fetched = body(await api.getUser(user.user_id));
  out.user = { email: fetched.email, user_metadata: fetched.user_metadata };
  out.search = (await api.search(`email:"sdk-${major}@example.com"`)).map((u) => u.user_id === user.user_id);
  out.byEmail = body(await api.byEmail(`sdk-${major}@example.com`)).length;

  const job = body(await api.exportUsers({ format: 'json' }));
  let status = job.status;
  for (let i = 0; i < 200 && status !== 'completed' && status !== 'failed'; i += 1) {
    await sleep(50);
    status = body(await api.getJob(job.id)).status;
  }
  out.export = status;

  out.clients = (await api.clients()).map((c) => c.client_id);
  const connections = await api.connections();
  out.connections = connections.map((c) => c.name);
  out.connection = body(await api.connection(connections[0].id)).strategy;
  process.stdout.write(JSON.stringify(out));
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n${JSON.stringify(error.body || '')}\n`);
  process.exit(1);
});
