// Drives the Envol sandbox with Mattermost's official JavaScript client (@mattermost/client),
// the one the web app uses: every call goes through Client4 exactly as a browser would make it.
// Usage: node drive.mjs <scene.json>; prints one JSON object, each call's answer or error.
// Run by tests/sandbox/test_js_client.py, which builds the scene and checks the answers.
import {readFileSync} from 'node:fs';

import clientPackage from '@mattermost/client';

const {Client4, ClientError} = clientPackage;
const scene = JSON.parse(readFileSync(process.argv[2], 'utf8'));

async function outcome(call) {
    try {
        return {ok: true, data: await call()};
    } catch (error) {
        if (error instanceof ClientError || error.server_error_id !== undefined) {
            return {ok: false, status: error.status_code, id: error.server_error_id, message: error.message};
        }
        return {ok: false, status: 0, id: 'client', message: String(error)};
    }
}

const person = new Client4();
person.setUrl(scene.url);
const admin = new Client4();
admin.setUrl(scene.url);

const results = {};
results.login = await outcome(() => person.login(scene.username, scene.password));
const stranger = new Client4();
stranger.setUrl(scene.url);
results.wrongPassword = await outcome(() => stranger.login(scene.username, 'not-the-password'));
results.adminLogin = await outcome(() => admin.login(scene.adminUsername, scene.adminPassword));
results.teams = await outcome(() => person.getTeams(0, 60, false));
results.search = await outcome(() => person.searchUsers(scene.searchTerm, {team_id: scene.teamId}));
results.autocomplete = await outcome(() => person.autocompleteUsers(scene.searchTerm, scene.teamId, ''));
results.myChannelMember = await outcome(() => person.getMyChannelMember(scene.channelId));
results.teamMember = await outcome(() => person.getTeamMember(scene.teamId, scene.otherUserId));
results.teamStats = await outcome(() => person.getTeamStats(scene.teamId));
results.myChannels = await outcome(() => person.getMyChannels(scene.teamId));
results.suggestions = await outcome(() => person.getCommandAutocompleteSuggestionsList(
    '/' + scene.trigger.slice(0, 2), scene.teamId, {channel_id: scene.channelId, team_id: scene.teamId}));
results.rolesRefused = await outcome(() => person.updateUserRoles(scene.botUserId, 'system_user system_admin'));
results.roles = await outcome(() => admin.updateUserRoles(scene.botUserId, 'system_user system_admin'));
results.badId = await outcome(() => person.getUser('not-an-id'));

process.stdout.write(JSON.stringify(results));
