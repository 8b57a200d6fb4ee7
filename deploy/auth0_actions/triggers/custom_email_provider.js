'use strict';
// custom-email-provider's api: api.cache and api.notification.drop/retry
// (https://auth0.com/docs/actions/reference/custom-email-provider/custom-email-provider-api-object),
// shared with custom-phone-provider in _notification.js.

module.exports = require('./_notification');
