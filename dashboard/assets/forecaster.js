// The dashboard's clientside callbacks (dash_clientside.forecaster.*): they run in the browser and send no
// request. Registered in dashboard/callbacks.py with ClientsideFunction("forecaster", name).
(function () {
    const none = () => window.dash_clientside.no_update;
    const graph = () => document.querySelector('#price-graph .js-plotly-plot');
    // Plotly's date strings ("2013-03-08 12:00", "2013-03-08T12:00:00", "2013-03-08") as UTC instants.
    const utc = (v) => {
        const s = String(v).slice(0, 19).replace(' ', 'T');
        const whole = {10: 'T00:00:00', 13: ':00:00', 16: ':00'}[s.length] || '';
        return new Date(s + whole + 'Z');
    };
    const day = (d) => d.toISOString().slice(0, 10);

    // The range a button gives, as Plotly computes it from the chart's end (d3's utcMonth.offset: the same day
    // of an earlier month; YTD: the year's first day). Mirrors dashboard.address.x_range.
    function rangeLabel(layout) {
        const x = layout.xaxis;
        if (!x || !x.range || !x.maxallowed) { return null; }
        const [a, b] = x.range.map(utc);
        const end = utc(x.maxallowed), first = utc(x.minallowed);
        const near = (p, q) => Math.abs(p - q) < 60e3;
        const back = (months) => { const d = new Date(end); d.setUTCMonth(d.getUTCMonth() - months); return d; };
        if (near(b, end)) {
            if (near(a, first)) { return 'All'; }
            for (const [label, months] of [['1M', 1], ['6M', 6], ['1Y', 12]]) {
                if (near(a, back(months))) { return label; }
            }
            if (near(a, Date.UTC(end.getUTCFullYear(), 0, 1))) { return 'YTD'; }
        }
        return day(a) + '..' + day(b);
    }

    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        forecaster: {
            // Fits the price panel's y-axis to the data inside the x-range after a zoom or a range button, makes
            // "All" span exactly the first day to the last forecast day (Plotly's autorange pads it by months),
            // and names the range for the address. It reads the x-range the chart has now, not the event's
            // keys: Dash hands a callback only the latest relayoutData, and on a busy machine the first draw's
            // {"autosize": true} can arrive after a click's x-range and hide it. Only a change of the y-axes
            // alone (its own, or a person's y-zoom) is left as it is; an update that changes nothing is not sent.
            rescaleY: function (relayout, shownLabel) {
                if (!relayout || Object.keys(relayout).every(k => k.startsWith('yaxis'))) { return [none(), none()]; }
                const gd = graph();
                if (!gd || !gd._fullData || !gd.layout.xaxis) { return [none(), none()]; }
                const time = v => new Date(String(v).slice(0, 19)).getTime();
                const onPrices = t => !(t.yaxis && t.yaxis !== 'y') && t.visible !== false && t.visible !== 'legendonly';
                const update = {};
                let x0, x1;
                if (gd.layout.xaxis.autorange === true) {
                    x0 = Infinity; x1 = -Infinity;
                    for (const t of gd._fullData) {
                        if (!onPrices(t)) { continue; }
                        for (const x of (t.x || [])) { const v = time(x); if (v < x0) { x0 = v; } if (v > x1) { x1 = v; } }
                    }
                    if (!isFinite(x0)) { return [none(), none()]; }
                    x1 += 12 * 3600e3;
                    update['xaxis.range'] = [new Date(x0).toISOString().slice(0, 10),
                                             new Date(x1).toISOString().slice(0, 13)];
                } else {
                    if (!gd.layout.xaxis.range) { return [none(), none()]; }
                    x0 = time(gd.layout.xaxis.range[0]); x1 = time(gd.layout.xaxis.range[1]);
                }
                let lo = Infinity, hi = -Infinity;
                // _fullData holds the decoded arrays (gd.data may hold Plotly's base64 "bdata" objects).
                for (const t of gd._fullData) {
                    if (!onPrices(t)) { continue; }
                    const xs = t.x || [];
                    for (let i = 0; i < xs.length; i++) {
                        const x = time(xs[i]);
                        if (x < x0 || x > x1) { continue; }
                        const low = t.type === 'candlestick' ? t.low[i] : t.y[i];
                        const high = t.type === 'candlestick' ? t.high[i] : t.y[i];
                        if (low != null && !isNaN(low)) { lo = Math.min(lo, low); }
                        if (high != null && !isNaN(high)) { hi = Math.max(hi, high); }
                    }
                }
                if (!isFinite(lo)) { return [none(), none()]; }
                const pad = (hi - lo) * 0.05 || 1;
                update['yaxis.range'] = [lo >= 0 ? Math.max(0, lo - pad) : lo - pad, hi + pad];  // prices never go below 0
                const now = gd.layout.yaxis && gd.layout.yaxis.range;
                const same = (a, b) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a));
                let fitted = none();
                if (update['xaxis.range'] || !now || !same(now[0], update['yaxis.range'][0])
                    || !same(now[1], update['yaxis.range'][1])) {
                    window.Plotly.relayout(gd, update);
                    fitted = update['yaxis.range'];
                }
                const label = rangeLabel(gd.layout);
                return [fitted, label && label !== shownLabel ? label : none()];
            },

            // The view, written into the address as a person moves (no reload, no new history entry), so that a
            // copied address opens the same view. Mirrors dashboard.address.search.
            writeAddress: function (runId, ticker, step, tab, range, measure) {
                if (!runId) { return none(); }
                const params = new URLSearchParams();
                params.set('run', runId);
                if (ticker) { params.set('ticker', ticker); }
                if (step && step !== 1) { params.set('step', step); }
                if (tab && tab !== 'ticker') { params.set('tab', tab); }
                if (range && range !== '6M') { params.set('range', range); }
                if (measure && measure !== 'rmse') { params.set('measure', measure); }
                const search = '?' + params.toString();
                if (window.location.search !== search) {
                    window.history.replaceState(window.history.state, '', window.location.pathname + search);
                }
                return search;
            },

            // One forecast step for the page: the Ticker, Compare and Skill tabs' pickers follow each other.
            syncStep: function (step, compareStep, skillStep) {
                const changed = window.dash_clientside.callback_context.triggered_id;
                const value = changed === 'compare-step' ? compareStep : changed === 'skill-step' ? skillStep : step;
                return [step, compareStep, skillStep].map(v => (v === value ? none() : value));
            },

            // A click on a row of the Skill tab's signals charts that signal.
            signalRow: function (cell) {
                return cell && cell.rowId && cell.rowId !== 'universe' ? cell.rowId : none();
            },

            // A click on a Compare bar or on a row of the Compare grid opens that ticker on the Ticker tab.
            openTicker: function (click, cell) {
                const changed = window.dash_clientside.callback_context.triggered_id;
                if (changed === 'compare-grid') {
                    return cell && cell.rowId ? ['ticker', cell.rowId] : [none(), none()];
                }
                if (!click || !click.points || !click.points.length) { return [none(), none()]; }
                return ['ticker', click.points[0].y];
            },

            // A click on a row of the Track record's grid shows that ticker's chart (row ids: ticker|step|window).
            trackRow: function (cell) {
                return cell && cell.rowId ? String(cell.rowId).split('|')[0] : none();
            },

            // What is below the fold (the metrics grid, the residual charts) is asked for once the price chart of
            // its ticker is drawn, so that it never competes with the chart for the browser.
            afterDraw: function (figure, runId, ticker, step, current) {
                if (!runId || !ticker) { return none(); }
                if (current && current.run === runId && current.ticker === ticker && current.step === step) {
                    return none();
                }
                const request = {run: runId, ticker: ticker, step: step};
                return new Promise(resolve => {
                    const started = performance.now();
                    const wait = () => {
                        const gd = graph();
                        const title = gd && gd.querySelector('.gtitle');
                        if ((title && title.textContent.startsWith(ticker + ':')) || performance.now() - started > 5000) {
                            window.requestAnimationFrame(() => setTimeout(() => resolve(request), 0));
                        } else {
                            setTimeout(wait, 25);
                        }
                    };
                    wait();
                });
            },

            // "Download CSV": the grid saves its rows as it shows them (sorted and filtered).
            exportCsv: function (clicks) {
                return clicks ? true : none();
            },
        },
    });
})();
